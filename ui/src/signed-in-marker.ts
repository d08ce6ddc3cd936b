const KEY = "kratos-guard:signed-in"

/**
 * A note that this browser had a session, kept until the person signs out here. When a login
 * page opens and the note is still there, the session ended elsewhere: a password change
 * (Kratos signs other devices out), a revoke from another device or by an administrator, or
 * its lifetime ran out. The browser can't tell which (Kratos answers each with the same 401),
 * so the login page names all three rather than none. The note holds no identifier.
 */
export function rememberSignedIn(): void {
  try {
    localStorage.setItem(KEY, "1")
  } catch {
    // Without storage the login page just doesn't explain itself.
  }
}

export function forgetSignedIn(): void {
  try {
    localStorage.removeItem(KEY)
  } catch {
    // Nothing to forget.
  }
}

let taken: boolean | undefined

/** Whether the session here ended without a sign-out; read (and cleared) once per page. */
export function takeEndedElsewhere(): boolean {
  if (taken !== undefined) return taken
  try {
    taken = localStorage.getItem(KEY) === "1"
  } catch {
    taken = false
  }
  forgetSignedIn()
  return taken
}
