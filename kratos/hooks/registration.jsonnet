// Body of the registration after-hooks. The pre-persist call happens before the identity is
// stored, so it has no id yet. Forwards no cookies, no credentials, no UI nodes.
local header(ctx, name) =
  if std.objectHas(ctx, 'request_headers') && std.objectHas(ctx.request_headers, name)
     && std.length(ctx.request_headers[name]) > 0
  then ctx.request_headers[name][0] else null;

function(ctx) {
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  identity_id: if std.objectHas(ctx.identity, 'id') then ctx.identity.id else null,
  identity: {
    traits: ctx.identity.traits,
    metadata_public: if std.objectHas(ctx.identity, 'metadata_public') then ctx.identity.metadata_public else null,
  },
  client: {
    ip: header(ctx, 'True-Client-Ip'),
    user_agent: header(ctx, 'User-Agent'),
  },
}
