-- ao.spawn spawns on the spawner's host with AO's limit tags; above the host's maxima nothing starts.
local t = require("t")

local function main()
    local seen = process.listen("seen")
    local me = process.pid()
    local probe = t.ok(process.spawn("app:probe", "app:procs", { Watcher = me }))
    local started = t.recv(seen, "started").value
    t.eq(started.id, probe, "ao.id is the own PID")
    t.eq(started.process_id, probe)
    t.eq(started.owner, "user:tester", "ao.env.Process.Owner is the process's actor")
    t.eq(started.module_id, "app:probe")
    t.eq(started.module_owner, nil)
    t.deep(started.module_tags, { model = "ao", flavour = "probe" }, "Module.Tags is the entry's meta")

    local function spawn(tags)
        process.send(probe, "Spawn", { Data = tags })
        return t.recv(seen, "spawn result")
    end

    -- Within the host (600 MiB, 1e8 units): the child starts with the tags.
    local ok = spawn({ ["Memory-Limit"] = "500-mb", ["Compute-Limit"] = "9000000", Watcher = me, Name = "kid" })
    t.eq(ok.what, "spawned")
    local child = t.recv(seen, "the child starts").value
    t.eq(child.id, ok.value)
    t.deep(child.tags, { ["Memory-Limit"] = "500-mb", ["Compute-Limit"] = "9000000", Watcher = me, Name = "kid" })
    t.stop(ok.value)

    -- "700-mb" is 700 MiB: over the host's 600 MiB, LIMIT_EXCEEDED naming the bytes; nothing starts.
    local over = spawn({ ["Memory-Limit"] = "700-mb", Watcher = me })
    t.eq(over.what, "spawn_failed")
    t.eq(over.value.kind, errors.LIMIT_EXCEEDED)
    t.contains(over.value.message, tostring(700 * 1024 * 1024))
    local gb = spawn({ ["Memory-Limit"] = "1-gb", Watcher = me })
    t.eq(gb.value.kind, errors.LIMIT_EXCEEDED)
    -- The seed's Compute-Limit is over this host's.
    local compute = spawn({ ["Compute-Limit"] = "900000000000000000", Watcher = me })
    t.eq(compute.value.kind, errors.LIMIT_EXCEEDED)
    t.contains(compute.value.message, "compute")
    -- Bad values are INVALID.
    t.eq(spawn({ ["Memory-Limit"] = "lots" }).value.kind, errors.INVALID)
    t.eq(spawn({ ["Compute-Limit"] = "1.5" }).value.kind, errors.INVALID)
    t.eq(spawn({ ["Memory-Limit"] = 0 }).value.kind, errors.INVALID)
    -- Sizes in the manifest's forms and numbers of bytes work too.
    local mib = spawn({ ["Memory-Limit"] = "64MiB", ["Compute-Limit"] = 1000000, Watcher = me })
    t.eq(mib.what, "spawned")
    t.recv(seen, "the second child starts")
    t.stop(mib.value)
    -- No child of the refused spawns ever reported.
    t.empty(seen, "nothing else started")
    t.stop(probe)
    return true
end

return { main = main }
