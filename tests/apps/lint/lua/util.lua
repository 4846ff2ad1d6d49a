return { double = function(n) return n * 2 end }
