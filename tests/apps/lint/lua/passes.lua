local function main()
    return true
end

return { main = main }
