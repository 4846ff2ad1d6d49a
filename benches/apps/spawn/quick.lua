local function main(i)
    return i
end

return { main = main }
