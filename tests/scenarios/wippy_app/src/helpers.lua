-- Shared helpers (a library.lua entry).
local helpers = {}

helpers.loads = (helpers.loads or 0) + 1

function helpers.square(n: number): number
    return n * n
end

function helpers.label(prefix: string, n: number): string
    return prefix .. "-" .. string(n)
end

return helpers
