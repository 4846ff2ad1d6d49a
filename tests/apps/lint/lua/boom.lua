local function main()
    local t = nil
    error("boom at the second line")
end

return { main = main }
