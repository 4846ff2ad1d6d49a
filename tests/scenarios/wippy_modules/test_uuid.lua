-- The reference system's uuid module.
local t = require("t")
local uuid = require("uuid")

local function main()
    local a = uuid.v4()
    local b = uuid.v4()
    t.ok(a ~= b, "two v4 differ")
    t.eq(#a, 36)
    t.eq(uuid.version(a), 4)
    t.eq(uuid.variant(a), "RFC4122")
    t.ok(uuid.validate(a), "a v4 is valid")
    t.eq(uuid.validate("nope"), false)
    t.eq(uuid.validate(42), false)

    local first, second = uuid.v7(), uuid.v7()
    t.eq(uuid.version(first), 7)
    t.ok(first < second, "v7 sort by creation time")
    local info = uuid.parse(first)
    t.eq(info.version, 7)
    t.ok(math.abs(info.timestamp - os.time()) < 60, "a v7 carries its unix time")

    local v1 = uuid.v1()
    t.eq(uuid.version(v1), 1)
    t.eq(#uuid.parse(v1).node, 12, "a v1's node id is 6 bytes of hex")

    local NS_URL = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
    local five = uuid.v5(NS_URL, "https://example.com/resource")
    t.eq(five, uuid.v5(NS_URL, "https://example.com/resource"), "v5 is deterministic")
    t.eq(uuid.version(five), 5)
    t.eq(uuid.version(uuid.v3(NS_URL, "x")), 3)
    -- RFC 9562's example: v5 of "www.example.com" in the DNS namespace.
    t.eq(uuid.v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2")

    t.eq(uuid.format(NS_URL, "simple"), "6ba7b8119dad11d180b400c04fd430c8")
    t.eq(uuid.format(NS_URL, "urn"), "urn:uuid:6ba7b811-9dad-11d1-80b4-00c04fd430c8")
    t.eq(uuid.format("6BA7B8119DAD11D180B400C04FD430C8"), NS_URL, "any form in, the standard form out")
    local none, err = uuid.format(NS_URL, "weird")
    t.eq(none, nil)
    t.eq(err:kind(), errors.INVALID)
    local _, long = uuid.version(string.rep("a", 100000))
    t.eq(long:kind(), errors.INVALID, "a long text is refused unread")
    local _, bad_ns = uuid.v5("not-a-uuid", "x")
    t.eq(bad_ns:kind(), errors.INVALID)
    return true
end

return { main = main }
