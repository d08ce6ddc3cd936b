import express from "express"
import { mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import pino from "pino"
import request from "supertest"
import { AppError, errorHandler } from "../../webhooks/errors"
import { requireHookKey } from "../../webhooks/middleware/hook-auth"

function appThrowing(err: unknown) {
  const app = express()
  app.use("/hooks", requireHookKey("k".repeat(40)))
  app.post(["/hooks/x", "/api/x"], () => {
    throw err
  })
  app.use(errorHandler(pino({ level: "silent" })))
  return app
}

describe("error answers", () => {
  it("when an API route fails unexpectedly, then the client gets a generic 500 with a request id and no internals", async () => {
    const res = await request(appThrowing(new Error("db password is hunter2"))).post("/api/x")
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe("INTERNAL")
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2/)
  })

  it("when a hook fails unexpectedly, then Kratos gets a 4xx with a message it can show, never a retried 5xx", async () => {
    const res = await request(appThrowing(new Error("boom")))
      .post("/hooks/x")
      .set("Authorization", `Bearer ${"k".repeat(40)}`)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(res.status).not.toBe(429)
    expect(res.body.messages[0].messages[0]).toMatchObject({ type: "error", id: 4000001 })
    expect(res.body.messages[0].messages[0].text).toMatch(/was not saved/)
  })

  it("when our own error is thrown, then its code decides the status", async () => {
    const res = await request(appThrowing(new AppError("CONFLICT", "flag still set"))).post(
      "/api/x",
    )
    expect(res.status).toBe(409)
    expect(res.body.error).toMatchObject({ code: "CONFLICT", message: "flag still set" })
  })

  it.each([
    ["no key", undefined],
    ["a shorter key", "k".repeat(10)],
    ["a key of the right length but wrong", "j" + "k".repeat(39)],
  ])("when a hook call carries %s, then it is refused with 401", async (_what, key) => {
    const req = request(appThrowing(new Error("must not run"))).post("/hooks/x")
    const res = await (key ? req.set("Authorization", `Bearer ${key}`) : req)
    expect(res.status).toBe(401)
  })

  it("when a static file is missing (serve-static without fallthrough, as /assets), then the answer is 404 and nothing is logged as an error", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "kg-assets-"))
    const lines: string[] = []
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) })
    const app = express()
    app.use("/assets", express.static(dir, { fallthrough: false }))
    app.use(errorHandler(log))
    try {
      const res = await request(app).get("/assets/index-deadbeef.js")
      expect(res.status).toBe(404)
      expect(res.body.error).toMatchObject({ code: "NOT_FOUND", message: "not found" })
      expect(JSON.stringify(res.body)).not.toContain(dir)
      const traversal = await request(app).get("/assets/%2e%2e%2fsecret")
      expect(traversal.status).toBeGreaterThanOrEqual(400)
      expect(traversal.status).toBeLessThan(500)
      expect(lines).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
