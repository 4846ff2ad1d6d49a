local function main(a: number, b: number)
    return a + b
end

return { main = main }
