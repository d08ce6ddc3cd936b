export function Wordmark({ href = "/" }: { href?: string }) {
  return (
    <a className="kg-wordmark" href={href} aria-label="kratos-guard home">
      <svg className="kg-wordmark__mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
        <rect width="32" height="32" rx="8" />
        <path d="M16 7l7 3v5c0 4.6-3 8.3-7 10-4-1.7-7-5.4-7-10v-5z" />
      </svg>
      <span className="kg-wordmark__text">kratos-guard</span>
    </a>
  )
}
