// Body of every settings after-hook (pre- and post-persist, one URL per method).
// Forwards no cookies, no request body and no UI node values: those nodes carry the TOTP
// secret (totp_secret_key) and recovery codes (lookup_secret_codes). Only the *names* of a
// few action nodes are forwarded, because they tell a link from an unlink.
local actionNodes = ['totp_unlink', 'totp_code', 'lookup_secret_confirm', 'lookup_secret_regenerate',
                     'lookup_secret_disable', 'lookup_secret_reveal', 'webauthn_remove', 'passkey_remove'];
local header(ctx, name) =
  if std.objectHas(ctx, 'request_headers') && std.objectHas(ctx.request_headers, name)
     && std.length(ctx.request_headers[name]) > 0
  then ctx.request_headers[name][0] else null;
local identity(ctx) = if std.objectHas(ctx, 'identity') then ctx.identity else ctx.flow.identity;

function(ctx) {
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  flow_state: if std.objectHas(ctx.flow, 'state') then ctx.flow.state else null,
  identity_id: identity(ctx).id,
  identity: {
    // Before the change in pre-persist, after it in post-persist: tells two changes made on
    // the same flow apart.
    updated_at: if std.objectHas(identity(ctx), 'updated_at') then identity(ctx).updated_at else null,
    state: if std.objectHas(identity(ctx), 'state') then identity(ctx).state else null,
    traits: identity(ctx).traits,
    metadata_public: if std.objectHas(identity(ctx), 'metadata_public') then identity(ctx).metadata_public else null,
  },
  previous_traits: ctx.flow.identity.traits,
  action_nodes: std.uniq(std.sort([
    n.attributes.name
    for n in ctx.flow.ui.nodes
    if std.objectHas(n.attributes, 'name') && std.member(actionNodes, n.attributes.name)
  ])),
  client: {
    ip: header(ctx, 'True-Client-Ip'),
    user_agent: header(ctx, 'User-Agent'),
  },
}
