import { useCallback, useEffect, useState } from "react"
import { asApiError, type ApiError } from "./api"

export type Resource<T> =
  { status: "loading" } | { status: "error"; error: ApiError } | { status: "ready"; data: T }

/**
 * Loads `load()` whenever `key` changes; an answer that arrives after the key moved on is
 * dropped. `reload()` loads again; `setData()` replaces the data after a local change.
 */
export function useResource<T>(key: string, load: () => Promise<T>) {
  const [state, setState] = useState<{ key: string; resource: Resource<T> }>({
    key,
    resource: { status: "loading" },
  })
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    let current = true
    setState((s) =>
      s.key === key && s.resource.status === "ready" ? s : { key, resource: { status: "loading" } },
    )
    load().then(
      (data) => current && setState({ key, resource: { status: "ready", data } }),
      (err: unknown) =>
        current && setState({ key, resource: { status: "error", error: asApiError(err) } }),
    )
    return () => {
      current = false
    }
    // `load` is a fresh closure each render; `key` says when what it loads changes.
  }, [key, generation])

  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  const setData = useCallback(
    (update: (data: T) => T) =>
      setState((s) =>
        s.resource.status === "ready"
          ? { ...s, resource: { status: "ready", data: update(s.resource.data) } }
          : s,
      ),
    [],
  )
  const resource: Resource<T> = state.key === key ? state.resource : { status: "loading" }
  return { resource, reload, setData }
}
