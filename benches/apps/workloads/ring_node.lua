-- One node of a ring: the first message on `next` is the PID to pass to; then every token on `t` goes on to
-- it, one less. A negative token stops the ring: it is passed on once more and the node returns.
local function main()
    local nexts = process.listen("next")
    local tokens = process.listen("t")
    local after = nexts:receive()
    while true do
        local n = tokens:receive()
        process.send(after, "t", n)
        if n < 0 then return true end
    end
end

return { main = main }
