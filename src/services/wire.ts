// Wire types: what the API sends, shaped by DevRev's official `dev-user` schema.
import type { EnumValue } from "./enums.js";

export interface UserSummary {
  type: "dev_user";
  id: string;
  display_id: string;
  display_name: string;
  email: string;
  full_name?: string;
  state: string;
}

export interface WireIdentity {
  issuer: string;
  id: string;
  display_name?: string;
  is_verified: boolean;
}

export interface WireJobHistoryItem {
  employment_status?: EnumValue;
  end_date?: string;
  is_current?: boolean;
  location?: string;
  start_date?: string;
  title?: string;
}

export interface WireDevUser {
  type: "dev_user";
  id: string;
  display_id: string;
  created_by?: UserSummary;
  modified_by?: UserSummary;
  created_date: string;
  modified_date: string;
  display_name: string;
  full_name?: string;
  email: string;
  state: string;
  /** Beyond DevRev's schema (which allows extra fields): what the user may do in its org. */
  role: "admin" | "member";
  external_identities: WireIdentity[];
  job_history: WireJobHistoryItem[];
  job_title?: string;
  reports_to?: UserSummary;
  experience_start_date?: string;
  availability_modes: EnumValue[];
  custom_fields: Record<string, unknown>;
  skills: { name: string }[];
  phone_numbers: string[];
  timezone?: string;
}
