local function main()
    error("child failed on purpose", 0)
end

return { main = main }
