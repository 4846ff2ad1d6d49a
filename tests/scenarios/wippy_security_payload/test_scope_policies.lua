-- scope:policies() lists a scope's policies, decided at the gate like :with_scope (process.security).
local t = require("t")
local security = require("security")

local function ids(policies)
    local out = {}
    for i, p in ipairs(policies) do
        out[i] = p:id()
    end
    return out
end

local function main()
    local admin = assert(security.named_scope("admin"))
    local policies, err = admin:policies()
    t.eq(err, nil)
    t.deep(ids(policies), { "admin.delete-any", "admin.read-any" }, "the admin scope's policies, in file order")
    t.eq(tostring(policies[1]), "policy: admin.delete-any")

    local both = assert(security.new_scope({ "reader", "admin" }))
    t.deep(ids(both:policies()), { "admin.delete-any", "admin.read-any", "reader.read-any" }, "two scopes")

    -- The current scope (the root has none): unscoped policies are in no scope.
    t.deep(ids(security.scope():policies()), {}, "no scope, no policies")
    t.deep(ids(security.named_scope("nobody-uses-this"):policies()), {}, "an unknown scope holds none")

    -- A scope the tester may not take: its policies are not revealed.
    local secret = assert(security.named_scope("secret"))
    local denied, derr = secret:policies()
    t.denied(denied, derr, "process.security", "reading the secret scope")
    local mixed, merr = security.new_scope({ "admin", "secret" }):policies()
    t.denied(mixed, merr, "process.security", "one secret name is enough to refuse")
    return true
end

return { main = main }
