local function main()
    error("<failure> & \"quotes\" ]]> in a message", 0)
end

return { main = main }
