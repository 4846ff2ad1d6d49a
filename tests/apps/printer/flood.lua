-- Prints 300 000 lines (nearly all over the print rate limit), then returns "done".
local function main()
    for i = 1, 300000 do
        print("line", i)
    end
    return "done"
end

return { main = main }
