// Shapes of the service's /api/me and /api/auth answers, as far as the Security page reads them.

export type SecurityOverview = {
  identity_id: string
  role: string
  password: {
    set: boolean
    last_changed_at: string | null
    rotation_days: number | null
    rotation_due_at: string | null
    rotation_due: boolean
  }
  two_factor: {
    enabled: boolean
    methods: { type: "totp" | "webauthn"; id?: string; name?: string; enrolled_at: string | null }[]
    recovery_codes_left: number
    recovery_codes_total: number
    required: boolean
    required_by: "org" | "role" | null
    enrolment_deadline: string | null
    enrolment_overdue: boolean
  }
  sso_required: boolean
  force_password_change: { required: boolean; set_at: string | null }
}

export type Location = {
  city: string | null
  region: string | null
  country: string
  country_name: string
}

export type SessionView = {
  id: string
  current: boolean
  device: { name: string; user_agent: string | null }
  ip: string | null
  location: Location | null
  authenticated_at: string | null
  last_active_at: string | null
  expires_at: string | null
  aal: string | null
}

export type ActivityItem = {
  id: string
  event: string
  occurred_at: string
  ip: string | null
  device: string | null
  location: Location | null
  actor: "self" | "admin" | "system"
  details: Record<string, unknown>
}

export type GateAnswer = {
  identity_id: string
  role: string
  aal: string
  warnings?: unknown
}

export const adminRoles = new Set(["admin", "super_admin"])
