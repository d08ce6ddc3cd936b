import { useEffect, useRef, useState, type MouseEvent } from "react"
import { asApiError, type ApiError } from "../api"

// ---------- client-side navigation inside /admin ----------

const NAVIGATE_EVENT = "kg:admin-navigate"

export type AdminLocation = { path: string; query: URLSearchParams }

function readLocation(): AdminLocation {
  return {
    path: window.location.pathname.replace(/(.)\/+$/, "$1"),
    query: new URLSearchParams(window.location.search),
  }
}

/** The current path and query; re-renders on our navigations and on back/forward. */
export function useAdminLocation(): AdminLocation {
  const [location, setLocation] = useState(readLocation)
  useEffect(() => {
    const update = () => setLocation(readLocation())
    window.addEventListener("popstate", update)
    window.addEventListener(NAVIGATE_EVENT, update)
    return () => {
      window.removeEventListener("popstate", update)
      window.removeEventListener(NAVIGATE_EVENT, update)
    }
  }, [])
  return location
}

/** Moves to another console page without reloading (the session and policy stay loaded). */
export function navigateTo(to: string, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, "", to)
  else window.history.pushState(null, "", to)
  window.dispatchEvent(new Event(NAVIGATE_EVENT))
  if (!replace) window.scrollTo(0, 0)
}

/**
 * Click handler for console links: plain clicks stay in the page, while modified clicks (new
 * tab, new window) and other buttons keep the browser's own behaviour.
 */
export function onLinkClick(event: MouseEvent<HTMLAnchorElement>) {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return
  const href = event.currentTarget.getAttribute("href")
  if (!href || !href.startsWith("/admin")) return
  event.preventDefault()
  navigateTo(href)
}

// ---------- loading data ----------

export { asApiError } from "../api"
export { useResource, type Resource } from "../use-resource"

/**
 * "Load more" under a list loaded by useResource: `loadMore` fetches the next page and folds it
 * into the list's data with `setData` (unless the list's key changed meanwhile); a failure is
 * kept in `error` for the page to show under the list.
 */
export function useLoadMore<T>(key: string, setData: (update: (data: T) => T) => void) {
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const currentKey = useRef(key)
  useEffect(() => {
    currentKey.current = key
  }, [key])
  const loadMore = async <P>(fetchPage: () => Promise<P>, append: (data: T, page: P) => T) => {
    setLoading(true)
    setError(null)
    try {
      const page = await fetchPage()
      if (currentKey.current === key) setData((data) => append(data, page))
    } catch (err) {
      setError(asApiError(err))
    } finally {
      setLoading(false)
    }
  }
  return { loading, error, loadMore }
}

/** The service's terse messages ("no such user") as a sentence for people. */
export function sentence(message: string | undefined, fallback = "Something went wrong."): string {
  const text = (message ?? "").trim()
  if (!text) return fallback
  const first = text.charAt(0).toUpperCase() + text.slice(1)
  return /[.!?]$/.test(first) ? first : `${first}.`
}

// ---------- formatting ----------

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" })
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" })

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—"
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? "—" : dateTime.format(d)
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—"
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? "—" : dateOnly.format(d)
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" })

/** "3 minutes ago", "in 2 hours": for times near now. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—"
  const t = new Date(iso).getTime()
  if (Number.isNaN(t)) return "—"
  const seconds = Math.round((t - now) / 1000)
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ]
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit)
  }
  return Math.abs(seconds) < 30 ? "just now" : relative.format(seconds, "second")
}

/** A short, still-unique-enough form of a UUID for tables (the full one is in the title). */
export function shortId(id: string): string {
  return id.slice(0, 8)
}

/** A readable device name from a User-Agent, without pulling a parser into the bundle. */
export function deviceName(userAgent: string | null | undefined): string {
  if (!userAgent) return "Unknown device"
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /OPR\//.test(userAgent)
      ? "Opera"
      : /Firefox\//.test(userAgent)
        ? "Firefox"
        : /Chrome\//.test(userAgent)
          ? "Chrome"
          : /Safari\//.test(userAgent)
            ? "Safari"
            : null
  const os = /iPhone|iPad/.test(userAgent)
    ? "iOS"
    : /Android/.test(userAgent)
      ? "Android"
      : /Mac OS X|Macintosh/.test(userAgent)
        ? "macOS"
        : /Windows/.test(userAgent)
          ? "Windows"
          : /Linux/.test(userAgent)
            ? "Linux"
            : null
  if (browser && os) return `${browser} on ${os}`
  if (browser || os) return (browser ?? os)!
  return userAgent.length > 48 ? `${userAgent.slice(0, 45)}…` : userAgent
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
