import http from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"
import { auditEventNames } from "../../webhooks/domain/audit"
import { toCloudEvent } from "../../webhooks/domain/security-events/cloud-event"
import { newSigningSecret, signedHeaders } from "../../webhooks/domain/security-events/signing"
import { eventMatches, isEventPattern } from "../../webhooks/domain/security-events/subscribers"
import {
  addressAllowed,
  checkSubscriberUrl,
  parseNetworks,
} from "../../webhooks/outbound/addresses"
import { createPoster } from "../../webhooks/outbound/post"

describe("subscriber addresses", () => {
  it("when an address is loopback, private, link-local, unspecified or one of those in IPv6 spelling, then it is refused unless allow-listed", () => {
    const refused = [
      "127.0.0.1",
      "127.9.9.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.0.10",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd12:3456::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:a9fe:a9fe",
      "64:ff9b::a9fe:a9fe",
    ]
    for (const a of refused) expect([a, addressAllowed(a, null)]).toEqual([a, false])
    for (const a of ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111"]) {
      expect([a, addressAllowed(a, null)]).toEqual([a, true])
    }
    const allowed = parseNetworks("127.0.0.1/32, 10.0.0.0/8")
    expect(addressAllowed("127.0.0.1", allowed)).toBe(true)
    expect(addressAllowed("::ffff:127.0.0.1", allowed)).toBe(true)
    expect(addressAllowed("127.0.0.2", allowed)).toBe(false)
    expect(addressAllowed("10.200.0.1", allowed)).toBe(true)
    expect(addressAllowed("169.254.169.254", allowed)).toBe(false)
    expect(addressAllowed("not an ip", allowed)).toBe(false)
    for (const bad of ["10.0.0.0/33", "nonsense", "1.2.3.4/8/9", "::1/129", "10.0.0.0/x"]) {
      expect(() => parseNetworks(bad)).toThrow()
    }
  })

  it("when a URL is checked outside local development, then only https is taken, and never with credentials or a refused address", async () => {
    const rules = { allowHttp: false, allowed: null }
    await expect(checkSubscriberUrl("http://93.184.215.14/x", rules)).rejects.toThrow(/https/)
    await expect(checkSubscriberUrl("https://93.184.215.14/x", rules)).resolves.toBeInstanceOf(URL)
    await expect(checkSubscriberUrl("https://u:p@93.184.215.14/x", rules)).rejects.toThrow(
      /credentials/,
    )
    await expect(checkSubscriberUrl("https://[::1]/x", rules)).rejects.toThrow(/not allow-listed/)
    // A name is resolved and every address it has is checked.
    await expect(checkSubscriberUrl("https://localhost/x", rules)).rejects.toThrow(
      /not allow-listed/,
    )
  })

  it("when a name resolves to a refused address at delivery time, then the sender does not connect", async () => {
    let hits = 0
    const server = http.createServer((_req, res) => {
      hits++
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const port = (server.address() as AddressInfo).port
    try {
      const strict = createPoster({ allowHttp: true, allowed: null })
      // `localhost` passed no check here: the connect-time lookup refuses it all the same.
      await expect(strict.post(`http://localhost:${port}/`, {}, "{}", 2000)).rejects.toThrow(
        /not allowed/,
      )
      await expect(strict.post(`http://127.0.0.1:${port}/`, {}, "{}", 2000)).rejects.toThrow(
        /not an allowed address/,
      )
      await expect(strict.post(`http://[::1]:${port}/`, {}, "{}", 2000)).rejects.toThrow()
      strict.close()
      expect(hits).toBe(0)
      const open = createPoster({ allowHttp: true, allowed: parseNetworks("127.0.0.1") })
      expect((await open.post(`http://127.0.0.1:${port}/`, {}, "{}", 2000)).status).toBe(200)
      open.close()
      expect(hits).toBe(1)
    } finally {
      server.close()
    }
  })

  it("when a receiver does not answer in time, then the post fails at its deadline", async () => {
    const server = http.createServer(() => {})
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const port = (server.address() as AddressInfo).port
    const poster = createPoster({ allowHttp: true, allowed: parseNetworks("127.0.0.1") })
    const started = Date.now()
    await expect(poster.post(`http://127.0.0.1:${port}/`, {}, "{}", 300)).rejects.toThrow(/300 ms/)
    expect(Date.now() - started).toBeLessThan(2000)
    poster.close()
    server.closeAllConnections()
    server.close()
  })
})

describe("event patterns", () => {
  it("when patterns name events, families or everything, then only known names and families are taken, and they match as the trigger matches", () => {
    expect(isEventPattern("*")).toBe(true)
    expect(isEventPattern("auth.*")).toBe(true)
    expect(isEventPattern("admin.*")).toBe(true)
    expect(isEventPattern("auth.login")).toBe(true)
    for (const bad of ["auth", "auth.", "nope.*", "auth.nope", "*.login", "auth.**", ""]) {
      expect([bad, isEventPattern(bad)]).toEqual([bad, false])
    }
    expect(eventMatches(["auth.*"], "auth.login")).toBe(true)
    expect(eventMatches(["auth.*"], "admin.viewed")).toBe(false)
    expect(eventMatches(["admin.viewed"], "admin.viewed")).toBe(true)
    expect(eventMatches(["*"], auditEventNames[0])).toBe(true)
  })
})

describe("signing and the event", () => {
  const entry = {
    id: 7,
    event_id: "5b0c1f8e-6a55-4f1e-9b84-5f8d2a3c9e11",
    dedup_key: "k",
    event: "auth.api_key_created",
    occurred_at: "2026-12-02 10:00:00.123+00",
    actor_type: "user",
    actor_id: "a",
    subject_id: "0d2f6c9a-1b7e-4c3d-8e5f-6a7b8c9d0e1f",
    ip: "203.0.113.9",
    user_agent: "ua",
    flow_id: null,
    request_id: "r",
    posture: { aal: "aal2" },
    details: { key_id: "abc", token: "should-not-leave", nested: { client_secret: "x" } },
    seq: 42,
    prev_hash: "p",
    hash: "h",
  }

  it("when an event is signed, then the Standard Webhooks verifier accepts it with the secret and refuses a changed body", () => {
    const secret = newSigningSecret()
    expect(secret).toMatch(/^whsec_/)
    const event = toCloudEvent(entry, "https://id.example.com")
    const body = JSON.stringify(event)
    const headers = signedHeaders([secret], event.id, Math.floor(Date.now() / 1000), body)
    expect(headers["webhook-id"]).toBe(entry.event_id)
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
    expect(() => new Webhook(secret).verify(body.replace("auth.", "admin."), headers)).toThrow()
    // Two secrets during a rotation: either verifies.
    const next = newSigningSecret()
    const both = signedHeaders([next, secret], event.id, Math.floor(Date.now() / 1000), body)
    expect(() => new Webhook(secret).verify(body, both)).not.toThrow()
    expect(() => new Webhook(next).verify(body, both)).not.toThrow()
  })

  it("when an entry becomes a CloudEvent, then it has the 1.0 attributes, the chain, and no secret-named detail", () => {
    const event = toCloudEvent(entry, "https://id.example.com")
    expect(event).toMatchObject({
      specversion: "1.0",
      id: entry.event_id,
      type: "auth.api_key_created",
      source: "https://id.example.com",
      time: "2026-12-02T10:00:00.123Z",
      subject: entry.subject_id,
      datacontenttype: "application/json",
      data: { chain: { seq: 42, prev_hash: "p", hash: "h" } },
    })
    expect(JSON.stringify(event)).not.toContain("should-not-leave")
    expect(event.data.redacted).toEqual(["details.token", "details.nested.client_secret"])
    expect(event.data.entry.details).toMatchObject({ key_id: "abc" })
  })
})
