export type { DeliveryRow, DeliveryStatus } from "../../data/event-subscribers"
export { deliveryStatuses } from "../../data/event-subscribers"
