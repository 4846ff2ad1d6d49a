-- Keeps the key-value server and its worker running: a crash of one restarts that one only.
local supervisor = require("supervisor")

return supervisor.start({
    strategy = "one_for_one",
    intensity = 3,
    period = "5s",
    children = {
        { id = "kv", entry = "app:kv", host = "app:processes", restart = "permanent", shutdown = "1s" },
        { id = "worker", entry = "app:worker", host = "app:processes", restart = "permanent", shutdown = "1s" },
    },
})
