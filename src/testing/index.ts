// devusers/testing: the service as a stand-in for DevRev in someone else's tests (./launch.ts).
export type {
  Devusers,
  Fixtures,
  ImportSummary,
  LoadFixturesOptions,
  StartDevusersOptions,
  TokenOptions,
} from "./launch.js";
export { startDevusers } from "./launch.js";
