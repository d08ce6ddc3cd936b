import { deviceName, isPublicIp, locate, normaliseIp } from "../../webhooks/domain/device"

describe("device names from User-Agent headers", () => {
  it.each([
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      "Chrome 120 on macOS",
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Firefox 121 on Windows",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
      "Mobile Safari 17 on iOS",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
      "Chrome 120 on Android",
    ],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.97",
      "Edge 119 on Linux",
    ],
    ["okhttp/4.12.0", "okhttp 4"],
    ["axios/1.7.2", "axios 1"],
  ])("when the User-Agent is %s, then the device is %s", (ua, name) => {
    expect(deviceName(ua)).toBe(name)
  })

  it("when there is no User-Agent or it is gibberish, then the device is unknown", () => {
    expect(deviceName(null)).toBe("Unknown device")
    expect(deviceName("")).toBe("Unknown device")
    expect(deviceName("???")).toBe("Unknown device")
  })
})

describe("offline GeoIP", () => {
  it("when the address is public, then city and country come from the bundled database", async () => {
    expect(await locate("8.8.8.8")).toMatchObject({ country: "US", country_name: "United States" })
    expect((await locate("8.8.8.8"))?.city).toEqual(expect.any(String))
    expect(await locate("::ffff:81.2.69.142")).toMatchObject({ country: "GB" })
    expect(await locate("2001:4860:4860::8888")).toMatchObject({ country: expect.any(String) })
  })

  it("when the address is loopback, private or not an address, then there is no location", async () => {
    for (const ip of [
      "127.0.0.1",
      "::1",
      "10.1.2.3",
      "192.168.0.1",
      "172.20.0.1",
      "fe80::1",
      "nope",
      null,
    ]) {
      expect(await locate(ip)).toBeNull()
    }
  })

  it("when addresses are classified, then the private ranges are not public", () => {
    expect(normaliseIp("::FFFF:8.8.8.8")).toBe("8.8.8.8")
    expect(isPublicIp("172.15.255.255")).toBe(true)
    expect(isPublicIp("172.16.0.1")).toBe(false)
    expect(isPublicIp("100.64.0.1")).toBe(false)
    expect(isPublicIp("fd00::1")).toBe(false)
  })
})
