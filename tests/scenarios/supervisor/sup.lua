-- A supervisor whose spec is its first spawn argument (models.md, "supervisor": a spec may be a function of the
-- spawn arguments). With `many` it builds a spec of that many children itself (spawn arguments are bounded).
local supervisor = require("supervisor")

return supervisor.start(function(spec, many, watcher)
    if many then
        local children = {}
        for i = 1, many do
            children[i] = { id = "c" .. i, entry = "app:child", args = { watcher, "c" .. i } }
        end
        return { children = children }
    end
    return spec
end)
