import { scriptJson } from "../../webhooks/routes/login-render"

describe("the flow a server-rendered page carries", () => {
  it("when a value holds markup or line separators, then the JSON can't end its script element and reads back the same", () => {
    const value = {
      request_url: "http://x/?return_to=</script><script>alert(1)</script>",
      note: "a & b > c <!-- d",
      lines: "one\u2028two\u2029three",
    }
    const text = scriptJson(value)
    expect(text).not.toMatch(/[<>&\u2028\u2029]/)
    expect(JSON.parse(text)).toEqual(value)
  })
})
