export { enqueueFor, type NotifyInput, type Queued } from "./enqueue"
export { recipientsFor, type Recipient } from "./recipients"
export { renderNotification, notificationKinds, type NotificationKind } from "./templates"
export { createDispatcher, type Dispatcher, type DispatcherOptions } from "./dispatcher"
export {
  listFailedNotifications,
  retryNotification,
  InvalidCursorError,
  type FailedNotification,
  type FailedPage,
  type RetryResult,
} from "./admin"
export { deviceFingerprint, deviceName } from "../device"
