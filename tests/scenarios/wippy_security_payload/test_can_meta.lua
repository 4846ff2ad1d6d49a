-- security.can(action, resource, meta): the meta reaches the policies as context attributes the schema
-- declares; the decision is the gate's.
local t = require("t")
local security = require("security")

local function main()
    t.eq(security.can("read", "user:42", { owner_id = "user:tester" }), true, "the owner may read")
    t.eq(security.can("read", "user:42", { owner_id = "user:other" }), false, "another owner")
    t.eq(security.can("read", "user:42"), false, "no meta, no owner")
    t.eq(security.can("delete", "document:7", { department = "ops" }), true, "ops may delete document 7")
    t.eq(security.can("delete", "document:8", { department = "ops" }), false, "not document 8")
    t.eq(security.can("delete", "document:7", { department = "ops", undeclared = 1 }), true,
        "a key the schema does not declare never reaches Cedar")

    -- The runtime's own attribute cannot be forged, and meta is bounded like actor meta.
    local v, err = security.can("read", "user:42", { pid = "{x@1|a:b|1}", owner_id = "user:tester" })
    t.err(v, err, errors.INVALID, "meta pid")
    v, err = security.can("read", "user:42", { owner_id = string.rep("x", 5000) })
    t.err(v, err, errors.INVALID, "meta over 4 KiB")
    v, err = security.can("read", "user:42", { f = function() end })
    t.err(v, err, errors.INVALID, "a function in meta")
    v, err = security.can("read", "user:42", "owner_id=user:tester")
    t.err(v, err, errors.INVALID, "meta that is not a table")
    v, err = security.can("read", string.rep("r", 300), { owner_id = "user:tester" })
    t.err(v, err, errors.INVALID, "a long resource")
    return true
end

return { main = main }
