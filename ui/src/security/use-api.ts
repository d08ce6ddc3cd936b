import { useCallback, useEffect, useState } from "react"
import { api, ApiError } from "../api"

export type Loadable<T> =
  { status: "loading" } | { status: "ready"; data: T } | { status: "failed"; error: ApiError }

/** GETs `path` once on mount; `reload()` fetches again and keeps showing the old data meanwhile. */
export function useApi<T>(path: string | null): Loadable<T> & { reload: () => Promise<void> } {
  const [state, setState] = useState<Loadable<T>>({ status: "loading" })

  const load = useCallback(async () => {
    if (!path) return
    try {
      setState({ status: "ready", data: await api.get<T>(path) })
    } catch (err) {
      setState({ status: "failed", error: asApiError(err) })
    }
  }, [path])

  useEffect(() => {
    void load()
  }, [load])

  return { ...state, reload: load }
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  return new ApiError(0, { message: err instanceof Error ? err.message : String(err) })
}
