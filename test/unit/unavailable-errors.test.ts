import { AxiosError } from "axios"
import express from "express"
import pino from "pino"
import request from "supertest"
import { errorHandler, unavailableDependency } from "../../webhooks/errors"
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

const axiosNoAnswer = () => {
  const e = new AxiosError("connect ECONNREFUSED 127.0.0.1:4434", "ECONNREFUSED")
  e.config = { headers: { cookie: "ory_kratos_session=secret" } } as never
  return e
}
const axiosStatus = (status: number) =>
  new AxiosError("failed", "ERR_BAD_RESPONSE", undefined, undefined, {
    status,
    data: {},
  } as never)
const pgError = (code: string) => Object.assign(new Error("pg"), { code })

describe("errors of unreachable dependencies", () => {
  it.each([
    ["an axios call without an answer", axiosNoAnswer(), "kratos"],
    ["a 503 from Kratos", axiosStatus(503), "kratos"],
    ["a 404 from Kratos", axiosStatus(404), undefined],
    ["postgres.js losing its connection", pgError("CONNECTION_CLOSED"), "database"],
    ["Postgres shutting down (57P01)", pgError("57P01"), "database"],
    ["Postgres starting up (57P03)", pgError("57P03"), "database"],
    ["a refused connection", pgError("ECONNREFUSED"), "database"],
    ["one wrapped by drizzle", new Error("query failed", { cause: pgError("08006") }), "database"],
    ["a unique violation", pgError("23505"), undefined],
    ["a plain bug", new TypeError("x is undefined"), undefined],
  ])("when it is %s, then it is classified as %s", (_what, err, expected) => {
    expect(unavailableDependency(err)).toBe(expected)
  })

  it("when an API route meets an unreachable dependency, then it answers 503 UNAVAILABLE with the reason and no internals", async () => {
    const res = await request(appThrowing(axiosNoAnswer())).post("/api/x")
    expect(res.status).toBe(503)
    expect(res.body.error).toMatchObject({ code: "UNAVAILABLE", reason: "kratos_unavailable" })
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|secret|4434/)
  })

  it("when a hook meets an unreachable database, then Kratos gets a 4xx refusal it shows, not a 5xx it retries", async () => {
    const res = await request(appThrowing(pgError("57P01")))
      .post("/hooks/x")
      .set("Authorization", `Bearer ${"k".repeat(40)}`)
    expect(res.status).toBe(424)
    expect(res.body.messages[0].messages[0].text).toMatch(/was not saved/)
  })
})
