// Stock enum values DevRev returns as {id, label, ordinal}. Requests name them by id.

export interface EnumValue {
  id: number;
  label: string;
  ordinal: number;
  value: string;
}

function table(entries: [number, string, string][]): Map<number, EnumValue> {
  return new Map(entries.map(([id, value, label], i) => [id, { id, label, ordinal: i + 1, value }]));
}

export const availabilityModes = table([
  [1, "available", "Available"],
  [2, "busy", "Busy"],
  [3, "away", "Away"],
  [4, "out_of_office", "Out of office"],
]);

export const employmentStatuses = table([
  [1, "full_time", "Full-time"],
  [2, "part_time", "Part-time"],
  [3, "contractor", "Contractor"],
  [4, "intern", "Intern"],
]);

export const jobTitles = [
  "customer_success_manager",
  "cxo",
  "designer",
  "developer",
  "head_of_support",
  "operations",
  "others",
  "product_manager",
  "qa",
  "revenue_leader",
  "support",
  "tech_lead",
] as const;

export const userStates = ["active", "deactivated", "deleted", "locked", "shadow", "unassigned"] as const;
