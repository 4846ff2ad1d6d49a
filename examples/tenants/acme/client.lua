-- Runs as acme's actor: may message acme's service, must not reach globex's.
local function main(targets: { own: string, other: string })
    local own_ok, own_err = process.send(targets.own, "work", "hello")
    local other_ok, other_err = process.send(targets.other, "work", "hello")
    return {
        own = own_ok == true and own_err == nil,
        cross_denied = other_ok == nil and other_err:kind() == errors.PERMISSION_DENIED,
        cross_message = other_err and other_err:message() or "",
    }
end

return { main = main }
