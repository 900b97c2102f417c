// Route schemas compiled on first use instead of at start. Fastify compiles every route's
// validator (Ajv) and response serialisers (fast-json-stringify) in ready(): about 200 ms, most of
// what a test harness waits for at every start. Here each is compiled the first time a request
// needs it (a few milliseconds once), by Fastify's own compilers with the same options, so what
// is validated and sent is unchanged. A schema that cannot compile fails its route's first
// request instead of the start: the contract tests call every route.
import AjvCompiler from "@fastify/ajv-compiler";
import SerializerSelector from "@fastify/fast-json-stringify-compiler";

type Factory = (externalSchemas: unknown, options: unknown) => (route: unknown) => unknown;
type Validate = ((data: unknown) => unknown) & { errors?: unknown };

export function lazySchemaCompilers() {
  const validators = (AjvCompiler as unknown as () => Factory)();
  const serializers = (SerializerSelector as unknown as () => Factory)();
  return {
    buildValidator: (externalSchemas: unknown, options: unknown) => {
      // The Ajv instance too is made on first use: with its formats it cost ready() about 7 ms,
      // at every start, whose first requests (health, self) need no validator.
      let compile: ((route: unknown) => unknown) | undefined;
      return (route: unknown) => {
        let compiled: Validate | undefined;
        // Fastify reads `errors` off the function it was given, as Ajv leaves them on its own.
        const validate: Validate = (data) => {
          compile ??= validators(externalSchemas, options);
          compiled ??= compile(route) as Validate;
          const valid = compiled(data);
          validate.errors = compiled.errors;
          return valid;
        };
        return validate;
      };
    },
    buildSerializer: (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: unknown) => unknown) | undefined;
      return (route: unknown) => {
        let compiled: ((data: unknown) => string) | undefined;
        return (data: unknown) => {
          compile ??= serializers(externalSchemas, options);
          compiled ??= compile(route) as (data: unknown) => string;
          return compiled(data);
        };
      };
    },
  };
}
