import type { ReactNode } from "react"
import type { FlowState } from "../use-flow"

type FlowViewProps<T> = {
  state: FlowState<T>
  /** Where "Try again" goes (a fresh browser flow for flow pages); asked only on failure. */
  retryHref: () => string
  children: (flow: T) => ReactNode
}

export function FlowView<T>({ state, retryHref, children }: FlowViewProps<T>) {
  switch (state.status) {
    case "loading":
      return <Loading />
    case "failed":
      return (
        <MessageCard
          title={state.title}
          message={state.message}
          actions={
            <a className="kg-button kg-button--primary" href={retryHref()}>
              Try again
            </a>
          }
        />
      )
    case "ready":
      return children(state.flow)
  }
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="kg-loading" role="status" aria-live="polite">
      <span className="kg-spinner" aria-hidden="true" />
      <span className="kg-loading__label">{label}</span>
    </div>
  )
}

type MessageCardProps = {
  title: string
  message: ReactNode
  actions?: ReactNode
  footer?: ReactNode
}

export function MessageCard({ title, message, actions, footer }: MessageCardProps) {
  return (
    <section className="kg-card" aria-labelledby="kg-card-title">
      <h1 id="kg-card-title" className="kg-card__title">
        {title}
      </h1>
      <p className="kg-card__text">{message}</p>
      {actions && <div className="kg-card__actions">{actions}</div>}
      {footer}
    </section>
  )
}
