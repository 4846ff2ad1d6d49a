-- json.encode / json.decode as the reference system documents them.
local t = require("t")
local json = require("json")

local function main()
    t.eq(json.encode("hello"), '"hello"', "string")
    t.eq(json.encode(42), "42", "a whole number has no fraction")
    t.eq(json.encode(99.5), "99.5", "a fraction")
    t.eq(json.encode(true), "true", "boolean")
    t.eq(json.encode(nil), "null", "nil")
    t.eq(json.encode({ 1, 2, 3 }), "[1,2,3]", "sequence")
    t.eq(json.encode({}), "[]", "empty table")
    t.eq(json.encode({ name = "Alice", age = 30 }), '{"age":30,"name":"Alice"}', "object, keys sorted")
    t.eq(json.encode({ s = 'a "q"\n' }), '{"s":"a \\"q\\"\\n"}', "escapes")
    t.eq(json.encode(0 / 0), "null", "NaN")
    t.eq(json.encode(math.huge), "null", "infinity")
    local order = { id = "ord-123", items = { { sku = "ABC", qty = 2 }, { sku = "XYZ", qty = 1 } }, total = 99.5 }
    t.eq(json.encode(order), '{"id":"ord-123","items":[{"qty":2,"sku":"ABC"},{"qty":1,"sku":"XYZ"}],"total":99.5}')

    local user = json.decode('{"name":"Bob","active":true,"tags":["a","b"],"n":null}')
    t.eq(user.name, "Bob")
    t.eq(user.active, true)
    t.eq(#user.tags, 2)
    t.eq(user.tags[2], "b")
    t.eq(user.n, nil, "null is nil")
    t.eq(json.decode("[10, 20, 30]")[3], 30)
    t.eq(json.decode("3.25"), 3.25)
    local back = json.decode(json.encode(order))
    t.eq(back.items[2].sku, "XYZ", "a round trip keeps the data")
    return true
end

return { main = main }
