import { kratosClients, registerNative, uniqueEmail } from "../harness/kratos"

describe("registration through the real Kratos, via the service's origin", () => {
  it("when a person registers through the native API flow, then Kratos stores an identity with their email", async () => {
    const email = uniqueEmail("register")
    const { identityId } = await registerNative(email)

    const { data: identity } = await kratosClients().identities.getIdentity({ id: identityId })
    expect(identity.traits).toMatchObject({ email })
    expect(identity.state).toBe("active")
    expect(Object.keys(identity.credentials ?? {})).toContain("password")
  })

  it("when the password is shorter than 12 characters, then Kratos refuses it and creates nobody", async () => {
    const email = uniqueEmail("short")
    await expect(registerNative(email, "Sh0rt!pass")).rejects.toMatchObject({
      response: { status: 400 },
    })

    const { data } = await kratosClients().identities.listIdentities({
      credentialsIdentifier: email,
    })
    expect(data).toHaveLength(0)
  })
})
