import express from "express"
import postgres from "postgres"

/**
 * The baseline of the webhook benchmark, as a process of its own: a bare Express route that
 * parses the JSON body and inserts it as one row, with the same driver and pool size as the
 * service. `DATABASE_URL` and `PORT` from the environment; prints "ready" when listening.
 */
async function main(): Promise<void> {
  const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} })
  await sql`create table if not exists bench_bare (id bigserial primary key, payload jsonb not null, received_at timestamptz not null default now())`
  const app = express()
  app.use(express.json({ limit: "64kb" }))
  app.post("/bare", async (req, res) => {
    await sql`insert into bench_bare (payload) values (${sql.json(req.body as never)})`
    res.status(204).end()
  })
  const server = app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"))
  server.keepAliveTimeout = 65_000
  process.on("SIGTERM", () => {
    server.close()
    void sql.end({ timeout: 2 }).then(() => process.exit(0))
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
