// Body of the login after-hooks (one URL per method). Forwards the session's assurance facts,
// never cookies, tokens or UI nodes.
local header(ctx, name) =
  if std.objectHas(ctx, 'request_headers') && std.objectHas(ctx.request_headers, name)
     && std.length(ctx.request_headers[name]) > 0
  then ctx.request_headers[name][0] else null;

function(ctx) {
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  requested_aal: if std.objectHas(ctx.flow, 'requested_aal') then ctx.flow.requested_aal else null,
  refresh: if std.objectHas(ctx.flow, 'refresh') then ctx.flow.refresh else false,
  identity_id: ctx.identity.id,
  identity: {
    state: if std.objectHas(ctx.identity, 'state') then ctx.identity.state else null,
    metadata_public: if std.objectHas(ctx.identity, 'metadata_public') then ctx.identity.metadata_public else null,
  },
  session: if std.objectHas(ctx, 'session') then {
    id: ctx.session.id,
    aal: if std.objectHas(ctx.session, 'authenticator_assurance_level') then ctx.session.authenticator_assurance_level else null,
    authentication_methods: [
      { method: m.method, aal: if std.objectHas(m, 'aal') then m.aal else null }
      for m in (if std.objectHas(ctx.session, 'authentication_methods') then ctx.session.authentication_methods else [])
    ],
  } else null,
  client: {
    ip: header(ctx, 'True-Client-Ip'),
    user_agent: header(ctx, 'User-Agent'),
  },
}
