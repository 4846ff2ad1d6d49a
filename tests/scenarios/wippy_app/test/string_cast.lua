-- In the reference dialect string(x) is a cast; the string library still works.
local function main()
    if string(5) ~= "5" then
        return false, "string(5) = " .. tostring(string(5))
    end
    if string(2.5) ~= "2.5" then
        return false, "string(2.5) = " .. tostring(string(2.5))
    end
    if string(true) ~= "true" or string(false) ~= "false" then
        return false, "booleans"
    end
    if string("same") ~= "same" then
        return false, "a string stays itself"
    end
    if string(nil) ~= nil then
        return false, "nil stays nil"
    end
    if string.upper("abc") ~= "ABC" or ("x"):rep(3) ~= "xxx" then
        return false, "the string library"
    end
    return true
end

return { main = main }
