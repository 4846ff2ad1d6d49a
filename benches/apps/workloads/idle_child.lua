return { main = function() return process.listen("stop"):receive() end }
