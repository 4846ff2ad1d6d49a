-- The reference dialect's locations: fixed zones, IANA zones, conversions.
local t = require("t")
local time = require("time")

local function main()
    local ist = time.fixed_zone("IST", 5 * 3600 + 30 * 60)
    local noon = time.date(2024, 1, 15, 12, 0, 0, 0, ist)
    t.eq(noon:utc():format(time.TIME_ONLY), "06:30:00")
    t.eq(noon:format("15:04 MST -07:00"), "12:00 IST +05:30")
    t.eq(noon:location():string(), "IST")
    t.eq(tostring(time.fixed_zone("PST", -8 * 3600)), "PST")

    local ny, err = time.load_location("America/New_York")
    t.eq(err, nil)
    t.eq(ny:string(), "America/New_York")
    local summer = time.date(2024, 7, 1, 12, 0, 0, 0, ny)
    t.eq(summer:utc():hour(), 16, "EDT is UTC-4")
    t.eq(summer:format("MST"), "EDT")
    t.eq(time.date(2024, 1, 15, 14, 0, 0, 0, ny):format("15:04 MST Z07:00"), "14:00 EST -05:00")
    t.eq(time.parse("2006-01-02 15:04", "2024-12-29 14:30", ny):utc():hour(), 19, "parse in a location")
    local tokyo = time.load_location("Asia/Tokyo")
    local at = time.date(2024, 12, 29, 15, 0, 0, 0, time.utc)
    t.eq(at:in_location(tokyo):format(time.TIME_ONLY), "00:00:00")
    t.eq(at:in_location(tokyo):day(), 30)
    t.ok(at:in_location(tokyo):equal(at), "the same instant in another zone")
    t.eq(at:in_location(tokyo):utc():location():string(), "UTC")
    t.eq(time.utc:string(), "UTC")
    t.eq(time.localtz:string(), "Local")
    t.eq(at:in_local():format(time.TIME_ONLY), "15:00:00", "a Corral node's local zone is UTC")

    local none, nerr = time.load_location("Unknown/Zone")
    t.err(none, nerr, errors.NOT_FOUND, "an unknown zone")
    local empty, eerr = time.load_location("")
    t.err(empty, eerr, errors.INVALID, "an empty name")
    local path, perr = time.load_location("../../etc/passwd")
    t.err(path, perr, errors.INVALID, "a name that looks like a path")
    local long, lerr = time.load_location(string.rep("A", 100000))
    t.err(long, lerr, errors.INVALID, "a name over the bound")
    t.eq(pcall(time.fixed_zone, "X", 1e9), false, "an offset past ±26h")
    t.eq(pcall(time.fixed_zone, "X", 0.5), false, "a fractional offset")
    return true
end

return { main = main }
