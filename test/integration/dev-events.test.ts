import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import request from "supertest"
import { Webhook } from "standardwebhooks"
import { registerDevReceiver, startEventSink, type EventSink } from "../../scripts/event-sink"
import { newSigningSecret } from "../../webhooks/domain/security-events/signing"
import { hookAuthorization } from "../../webhooks/middleware/hook-auth"
import { inProcessApp } from "../harness/app"
import { closeServiceDb, serviceDb } from "../harness/db"
import { eventually } from "../harness/eventually"
import { registerNative } from "../harness/kratos"
import { stackInfo } from "../harness/stack-info"

/**
 * `npm start`'s local event receiver (scripts/event-sink.ts) and its page at /dev/events: the
 * running service delivers real signed events to it, the page shows each with the verdict of
 * the `standardwebhooks` verifier. The service under test here is an in-process copy of the
 * stack's, on its database, with DEV_EVENTS_URL pointing at the sink (as npm start sets it);
 * the stack's own sender makes the deliveries.
 */

let sink: EventSink
let dev: ReturnType<typeof inProcessApp>
let server: Server
let serviceUrl: string
const subscriberIds: string[] = []

beforeAll(async () => {
  sink = await startEventSink()
  dev = inProcessApp({ env: { NODE_ENV: "development", DEV_EVENTS_URL: sink.url } })
  server = dev.app.listen(0, "127.0.0.1")
  await new Promise((r) => server.once("listening", r))
  serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  // The subscriber takes every event: gone with the test, so the stack stops sending to it.
  if (subscriberIds.length > 0)
    await serviceDb()`delete from event_subscribers where id = any(${subscriberIds}::uuid[])`
  await new Promise((r) => server.close(r))
  await dev.close()
  await sink.close()
  await closeServiceDb()
})

/** The page's article of one event: its verdict and text. */
function article(html: string, id: string): { verdict: string; text: string } | null {
  const m = new RegExp(
    `<article class="event [a-z]+" data-id="${id}" data-verdict="([^"]+)">([\\s\\S]*?)</article>`,
  ).exec(html)
  return m ? { verdict: m[1]!, text: m[2]! } : null
}

const page = async () => {
  const res = await request(dev.app).get("/dev/events")
  expect(res.status).toBe(200)
  expect(res.type).toBe("text/html")
  return res.text
}

describe("/dev/events, the local event receiver", () => {
  it("when npm start registers the dev receiver and a person signs up, then the service's signed delivery is on the page as valid, and the same delivery with a changed body as invalid", async () => {
    const first = await registerDevReceiver({ serviceUrl, apiKey: stackInfo().webhookApiKey, sink })
    subscriberIds.push(first.subscriberId)
    expect(first.url).toBe(sink.receiverUrl("local"))
    const [row] = await serviceDb()<{ name: string; event_types: string[]; enabled: boolean }[]>`
      select name, event_types, enabled from event_subscribers where id = ${first.subscriberId}`
    expect(row).toEqual({ name: "Local receiver (dev)", event_types: ["*"], enabled: true })

    const person = await registerNative()
    const delivered = await eventually(async () => {
      const e = sink.events.find(
        (x) => x.type === "auth.registered" && x.subject === person.identityId,
      )
      expect(e).toBeDefined()
      return e!
    }, 20_000)
    const [entry] = await serviceDb()<{ event_id: string }[]>`
      select event_id from audit_events where event = 'auth.registered' and subject_id = ${person.identityId}`
    expect(delivered.id).toBe(entry!.event_id)
    expect(delivered.webhookId).toBe(entry!.event_id)
    expect(delivered.receiver).toBe("local")
    expect(delivered.verdict).toBe("valid")

    const shown = article(await page(), entry!.event_id)
    expect(shown?.verdict).toBe("valid")
    expect(shown?.text).toContain("auth.registered")
    expect(shown?.text).toContain("signature valid")
    expect(shown?.text).toContain(person.identityId)

    // The same headers with one byte of the body changed: the verifier refuses it.
    const tampered = delivered.body.replace('"auth.registered"', '"auth.registereD"')
    expect(tampered).not.toBe(delivered.body)
    const post = await fetch(sink.receiverUrl("local"), {
      method: "POST",
      headers: {
        "content-type": "application/cloudevents+json",
        "webhook-id": delivered.webhookId,
        "webhook-timestamp": delivered.webhookTimestamp,
        "webhook-signature": delivered.webhookSignature,
      },
      body: tampered,
    })
    expect(post.status).toBe(204)
    expect(sink.events.find((e) => e.body === tampered)).toMatchObject({
      verdict: "invalid",
      repeat: true,
    })
    const html = await page()
    // Newest first: the tampered copy comes before the delivery it copies.
    const copy = html.indexOf("auth.registereD")
    expect(copy).toBeGreaterThan(-1)
    expect(copy).toBeLessThan(html.indexOf("✓ signature valid"))
    expect(html).toContain("✗ signature invalid")
    expect(html).toContain("No matching signature found")
  })

  it("when npm start registers again, then the same subscriber gets a new secret: what it sends next verifies with it", async () => {
    const again = await registerDevReceiver({ serviceUrl, apiKey: stackInfo().webhookApiKey, sink })
    if (!subscriberIds.includes(again.subscriberId)) subscriberIds.push(again.subscriberId)
    const [counted] = await serviceDb()<{ count: number }[]>`
      select count(*)::int as count from event_subscribers where name = 'Local receiver (dev)'`
    expect(counted?.count).toBe(1)
    const person = await registerNative()
    const e = await eventually(async () => {
      const x = sink.events.find((y) => y.subject === person.identityId)
      expect(x).toBeDefined()
      return x!
    }, 20_000)
    expect(e.verdict).toBe("valid")
    // Rotated with no overlap: one signature, by the new secret.
    expect(e.webhookSignature.split(" ")).toHaveLength(1)
  })

  it("when a delivery comes for a receiver whose secret is not known, then it shows as such until a person pastes the secret on the page, and then as valid", async () => {
    const secret = newSigningSecret()
    const body = JSON.stringify({
      specversion: "1.0",
      id: "0f1e2d3c-4b5a-4968-8776-655443322110",
      type: "auth.login",
      source: "http://localhost",
      time: new Date().toISOString(),
    })
    const now = new Date()
    const res = await fetch(sink.receiverUrl("mine"), {
      method: "POST",
      headers: {
        "webhook-id": "0f1e2d3c-4b5a-4968-8776-655443322110",
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(
          "0f1e2d3c-4b5a-4968-8776-655443322110",
          now,
          body,
        ),
      },
      body,
    })
    expect(res.status).toBe(204)
    expect(article(await page(), "0f1e2d3c-4b5a-4968-8776-655443322110")?.verdict).toBe(
      "no secret known",
    )

    const bad = await request(dev.app)
      .post("/dev/events/secret")
      .type("form")
      .send({ receiver: "mine", secret: "not a secret" })
    expect(bad.status).toBe(400)
    expect(bad.text).toContain("That is not a signing secret")

    const pasted = await request(dev.app)
      .post("/dev/events/secret")
      .type("form")
      .send({ receiver: "mine", secret })
    expect(pasted.status).toBe(303)
    expect(pasted.headers.location).toBe("/dev/events")
    const shown = article(await page(), "0f1e2d3c-4b5a-4968-8776-655443322110")
    expect(shown?.verdict).toBe("valid")
    expect(shown?.text).toContain("signature checked when the secret was given")
  })

  it("when another site's form posts a secret, then the receiver refuses it", async () => {
    const res = await fetch(`${sink.url}/dev/events/secret`, {
      method: "POST",
      headers: {
        origin: "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: `receiver=local&secret=${encodeURIComponent(newSigningSecret())}`,
    })
    expect(res.status).toBe(403)
    expect(
      sink.events
        .filter((e) => e.receiver === "local")
        .every((e) => e.verdict !== "no secret known"),
    ).toBe(true)
  })

  it("when the service runs in production, then neither /dev/events nor /dev/mail nor the dev receiver's route exist", async () => {
    const prod = inProcessApp({
      env: { NODE_ENV: "production", DEV_EVENTS_URL: sink.url, DEV_MAIL_URL: sink.url },
    })
    try {
      for (const path of ["/dev/events", "/dev/mail"]) {
        const res = await request(prod.app).get(path)
        expect(res.status).toBe(404)
        expect(res.text).not.toContain("Dev events")
      }
      const route = await request(prod.app)
        .post("/internal/dev/event-receiver")
        .set("authorization", hookAuthorization(stackInfo().webhookApiKey))
      expect(route.status).toBe(404)
    } finally {
      await prod.close()
    }
  })

  it("when the dev receiver's route is called without the webhook API key, then it is refused", async () => {
    const res = await request(dev.app).post("/internal/dev/event-receiver")
    expect(res.status).toBe(401)
  })
})
