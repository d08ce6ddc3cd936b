import { wantsPrettyLogs } from "../../webhooks/logger"

const installed = () => true
const missing = () => false

describe("pretty logs", () => {
  it("when the production image runs with a terminal attached (docker run -t), then it logs JSON lines and never loads the dev-only pino-pretty", () => {
    let asked = false
    const prettyInstalled = () => {
      asked = true
      return false
    }
    expect(wantsPrettyLogs({ isTTY: true, nodeEnv: "production", prettyInstalled })).toBe(false)
    expect(asked).toBe(false)
  })

  it("when a developer runs the service in a terminal, then the output is pretty", () => {
    expect(
      wantsPrettyLogs({ isTTY: true, nodeEnv: "development", prettyInstalled: installed }),
    ).toBe(true)
    expect(
      wantsPrettyLogs({ isTTY: false, nodeEnv: "development", prettyInstalled: installed }),
    ).toBe(false)
  })

  it("when LOG_PRETTY is set, then it decides, but pretty output still needs pino-pretty installed", () => {
    expect(
      wantsPrettyLogs({
        pretty: true,
        isTTY: false,
        nodeEnv: "production",
        prettyInstalled: installed,
      }),
    ).toBe(true)
    expect(
      wantsPrettyLogs({
        pretty: true,
        isTTY: true,
        nodeEnv: "production",
        prettyInstalled: missing,
      }),
    ).toBe(false)
    expect(
      wantsPrettyLogs({
        pretty: false,
        isTTY: true,
        nodeEnv: "development",
        prettyInstalled: installed,
      }),
    ).toBe(false)
  })
})
