//! Creating a VM: the one function that builds a Luau state, installs the modules and seals the globals.
//!
//! Processes of one host run as Luau threads on a small pool of VMs belonging to that host. Each process gets
//! its own globals table (reads fall through to the VM's sealed, read-only globals), so a script can neither
//! change a library nor see another process's globals. Tenant text is compiled here and only ever loaded as
//! text we compiled ourselves (Luau trusts bytecode, so bytes from a script are never loaded).

use hashbrown::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use mlua::chunk::{ChunkMode, Compiler};
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use crate::interrupt::{self, Meters};
use crate::modules;

/// Globals removed from the base library (`lua-api.md`, "What scripts never get").
const REMOVED: [&str; 9] =
    ["getfenv", "setfenv", "newproxy", "loadstring", "load", "dofile", "loadfile", "gcinfo", "collectgarbage"];

/// Bytecode the VMs of one sandbox share, compiled once rather than once per VM: our own Luau sources (the
/// blocking-call glue, the event maker, the process boot [`BOOT`], the builder's and the modules' glue) and
/// each entry's source. Bytecode is plain bytes (no Lua values), so one compilation serves every VM. A VM
/// finds it in its app data ([`load_builtin`]).
#[derive(Default)]
pub struct Code {
    /// Per source of ours (by its address: a `&'static str` is never freed or moved), its bytecode.
    builtins: Mutex<HashMap<usize, Arc<Vec<u8>>>>,
    /// Per entry id, the source it was compiled from and its bytecode. A redeploy brings a new source (a new
    /// `Arc`), which is compiled again; the same `Arc` is never compiled twice.
    entries: Mutex<HashMap<String, Compiled>>,
}

impl Code {
    /// The bytecode of one of our own sources, compiled on first use. Errors: a compile error (not expected:
    /// the sources are ours and tested).
    pub(crate) fn builtin(&self, source: &'static str) -> mlua::Result<Arc<Vec<u8>>> {
        let key = source.as_ptr() as usize;
        if let Some(bytecode) = self.builtins.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(bytecode.clone());
        }
        let bytecode = Arc::new(Compiler::new().compile(source)?);
        self.builtins.lock().unwrap_or_else(PoisonError::into_inner).insert(key, bytecode.clone());
        Ok(bytecode)
    }

    /// The entry's bytecode, compiled on first use of its source. Errors: a syntax error, naming the
    /// entry's file and line.
    fn entry(&self, entry: &corral_core::app::Entry) -> mlua::Result<Arc<Vec<u8>>> {
        let cached = self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(&entry.id).cloned();
        if let Some((source, bytecode)) = cached
            && Arc::ptr_eq(&source, &entry.source)
        {
            return Ok(bytecode);
        }
        let bytecode = Arc::new(compile(&entry.source, &entry.source_path.display().to_string())?);
        let cached = (entry.source.clone(), bytecode.clone());
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).insert(entry.id.clone(), cached);
        Ok(bytecode)
    }
}

/// One of our own Luau sources as a function (its chunk, named `name`) of `lua`, from the bytecode its
/// sandbox compiled once ([`Code`], found in the VM's app data; a state made without one compiles the source
/// itself). Errors: as [`Code::builtin`].
pub(crate) fn load_builtin(lua: &Lua, name: &str, source: &'static str) -> mlua::Result<Function> {
    let code = lua.app_data_ref::<Arc<Code>>().map(|code| code.clone());
    let bytecode = match code {
        Some(code) => code.builtin(source)?,
        None => Arc::new(Compiler::new().compile(source)?),
    };
    lua.load(&bytecode[..]).set_name(name).set_mode(ChunkMode::Binary).into_function()
}

/// A VM of a host's pool.
pub struct Vm {
    /// The Luau state.
    pub lua: Lua,
    /// The sealed globals every process env reads through.
    pub globals: Table,
    /// The metatable of every process env: `__index` to the sealed globals, locked.
    pub env_meta: Table,
    /// `boot(chunk, method, id, args...)` runs `chunk` and calls its `method` with `args` (our own glue,
    /// compiled from [`BOOT`] once per VM: a process's thread starts in it, and nothing of it is made per
    /// process).
    pub boot: Function,
    /// Per-process meters: memory categories, compute counts, the preemption flag (`interrupt.rs`).
    pub meters: Arc<Meters>,
    /// The bytecode this VM loads, shared with the other VMs of its sandbox.
    code: Arc<Code>,
    /// Per entry id, the source and its chunk loaded once over an env of its own: each process gets a clone
    /// that shares the loaded code (Luau's `lua_clonefunction`) with the process's env set, instead of
    /// loading it again.
    templates: Mutex<HashMap<String, Template>>,
    /// The VM's executor, started with its first process (`driver.rs`).
    driver: std::sync::OnceLock<Arc<crate::driver::Driver>>,
}

/// An entry's source and the bytecode compiled from it.
type Compiled = (Arc<str>, Arc<Vec<u8>>);

/// Starts a process: runs the entry's chunk, finds the method, calls it. A module may return a table of
/// functions (`return { main = main }`) or a single function.
///
/// Everything runs under `xpcall` on the process's own thread, so an error object is turned into text there,
/// metered like the rest of the process: a table whose `__tostring` never returns is ended by the compute
/// budget instead of hanging the VM when the runtime reads the error (`docs/security.md`).
///
/// Kept shallow, because every idle process holds it under its `main`: the chunk runs and the method is found
/// in a first `xpcall` that has returned before `main` is called in a second one, and the boot function takes
/// its arguments as varargs (fixed parameters of a vararg function are copied above them). So a `main` that
/// parks in its first blocking call (`process.listen(t):receive()`) stays within the 40 slots a Luau thread
/// starts with; one more frame there doubled the thread's stack to 95 slots (800 bytes more per idle
/// process, issue 10).
const BOOT: &str = r##"
local locate = ...
local function plain(e)
  if type(e) ~= "table" then return e end
  local ok, text = pcall(tostring, e)
  if ok and type(text) == "string" then return text end
  return "error object is a table value"
end
local function resolve(chunk, method, id)
  local module = chunk()
  local f
  if type(module) == "table" then f = module[method] elseif type(module) == "function" then f = module end
  if type(f) ~= "function" then error("entry `" .. id .. "` has no function `" .. method .. "`", 0) end
  return f
end
-- An error a built-in function raised carries no location: it gets the script's file and line. (A string a
-- script raised keeps what `error` gave it, level 0 included; an error object stays an object.)
local function located(e)
  if type(e) == "userdata" then
    local text = locate(e)
    if text then return text end
  end
  return plain(e)
end
local function finish(ok, ...)
  if not ok then error((...), 0) end
  if select("#", ...) >= 2 then
    local value, err = ...
    if type(err) == "table" then return value, plain(err) end
  end
  return ...
end
return function(...)
  local f
  do
    local ok
    ok, f = xpcall(resolve, located, ...)
    if not ok then error(f, 0) end
  end
  return finish(xpcall(f, located, select(4, ...)))
end
"##;

/// The text of an error that ends a process and was raised as a value with no position (an error a Rust
/// function raised, `Value::Error`, or an error object, `errors.new` / a built-in's `nil, err` re-raised),
/// prefixed with the script's `file.lua:LINE` when it has no location of its own; `None` for any other value
/// (a string keeps what `error` gave it).
fn located(lua: &Lua, error: &Value) -> Option<String> {
    let text = match error {
        Value::Error(error) => crate::runner::error_text(error),
        Value::UserData(ud) => ud.borrow::<crate::modules::errors::LuaError>().ok()?.message.clone(),
        _ => return None,
    };
    let has_location = text.split_once(':').is_some_and(|(file, rest)| {
        (file.ends_with(".lua") || file.ends_with(".luau"))
            && rest.split(':').next().is_some_and(|n| n.parse::<u32>().is_ok())
    });
    if has_location {
        return Some(text);
    }
    Some(match script_location(lua) {
        Some(at) => format!("{at}: {text}"),
        None => text,
    })
}

/// `file.lua:LINE` of the innermost frame of a script's own code on the running stack (built-in glue and Rust
/// functions skipped), for an error a built-in function raised without a location; `None` when there is none.
/// Walks at most 64 frames.
fn script_location(lua: &Lua) -> Option<String> {
    for level in 1..64 {
        let frame = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            let file = source.short_src.as_deref().filter(|s| s.ends_with(".lua") || s.ends_with(".luau"))?;
            (source.what == "Lua").then(|| format!("{file}:{}", debug.current_line().unwrap_or(0)))
        })?;
        if frame.is_some() {
            return frame;
        }
    }
    None
}

/// Creates a VM with the modules installed, the metering callbacks set and the globals sealed. `wippy` turns on the reference system's
/// dialect (`cli-and-manifest.md`, "Compatibility"). The VM compiles its glue itself; [`create_vm_with`]
/// shares it (and entries' bytecode) with other VMs.
pub fn create_vm(wippy: bool) -> mlua::Result<Vm> {
    create_vm_with(wippy, Arc::new(Code::default()))
}

/// As [`create_vm`], loading the glue and entries' bytecode from `code`, which other VMs share.
pub fn create_vm_with(wippy: bool, code: Arc<Code>) -> mlua::Result<Vm> {
    let libs =
        StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::BIT | StdLib::MATH | StdLib::BUFFER;
    let lua = Lua::new_with(libs, LuaOptions::new())?;
    let meters = interrupt::install(&lua)?;
    interrupt::hide_addresses(&lua)?;
    let globals = lua.globals();
    for name in REMOVED {
        globals.raw_set(name, mlua::Value::Nil)?;
    }
    lua.set_app_data(code.clone());
    crate::block::install(&lua, wippy)?;
    modules::register_all(&lua, wippy)?;
    lua.sandbox(true)?;
    let env_meta = lua.create_table()?;
    env_meta.raw_set("__index", globals.clone())?;
    env_meta.raw_set("__metatable", "locked")?;
    // Luau's sandbox freezes only the first level of each library; everything a script can reach from the
    // globals (nested tables such as `process.registry`, the builder's methods, the string metatable) is
    // shared by every process of the VM, so all of it is frozen. (mlua hides userdata metatables:
    // `getmetatable` of a userdata is `false`.)
    // One walk: the env metatable's `__index` is the globals, and the string metatable's is `string`.
    let string_meta: Value = lua.globals().get::<Function>("getmetatable")?.call("")?;
    freeze_reachable(&lua, vec![Value::Table(globals.clone()), Value::Table(env_meta.clone()), string_meta])?;
    let boot: Function = load_builtin(&lua, "=corral:boot", BOOT)?
        .call(lua.create_function(|lua, error: Value| Ok(located(lua, &error)))?)?;
    Ok(Vm {
        lua,
        globals,
        env_meta,
        boot,
        meters,
        code,
        templates: Mutex::new(HashMap::new()),
        driver: std::sync::OnceLock::new(),
    })
}

/// Freezes `root` and every table reachable from it: the values and keys of each table, the metatable of
/// each table, and the metatable `getmetatable` gives for each userdata (recursively, once each; cycles are
/// fine). Functions are opaque to scripts (no `debug` library), so their upvalues are not walked.
///
/// `create_vm` walks the VM's globals, the env metatable and the string metatable so; a module table
/// handed out by `require` is frozen with it when it is created (`time::create`).
/// Errors: a Lua error while reading a table (not expected: the walk reads raw).
pub fn freeze_all(lua: &Lua, root: Value) -> mlua::Result<()> {
    freeze_reachable(lua, vec![root])
}

/// As [`freeze_all`] for several roots in one walk (what two roots share is walked once).
fn freeze_reachable(lua: &Lua, roots: Vec<Value>) -> mlua::Result<()> {
    let getmetatable: Function = lua.globals().get("getmetatable")?;
    let mut seen = HashSet::new();
    let mut stack = roots;
    while let Some(value) = stack.pop() {
        match value {
            Value::Table(table) => {
                if !seen.insert(table.to_pointer() as usize) {
                    continue;
                }
                if let Some(meta) = table.metatable() {
                    stack.push(Value::Table(meta));
                }
                for pair in table.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    stack.push(k);
                    stack.push(v);
                }
                table.set_readonly(true);
            }
            Value::UserData(ud) if seen.insert(ud.to_pointer() as usize) => {
                stack.push(getmetatable.call::<Value>(ud)?);
            }
            _ => {}
        }
    }
    Ok(())
}

impl Vm {
    /// The VM's executor, started on the current tokio runtime on first use.
    pub(crate) fn driver(&self) -> Arc<crate::driver::Driver> {
        self.driver.get_or_init(|| Arc::new(crate::driver::Driver::start())).clone()
    }

    /// A fresh globals table for one process (or one library instance).
    pub fn new_env(&self) -> mlua::Result<Table> {
        let env = self.lua.create_table()?;
        env.set_metatable(Some(self.env_meta.clone()))?;
        Ok(env)
    }

    /// The entry's chunk as a function over `env`, compiled once per VM and entry, with the entry's method
    /// name and id as Lua strings (made once per VM and entry too: the boot glue's arguments).
    /// Errors: a syntax error, naming the entry's file and line.
    pub fn load_entry(
        &self,
        entry: &corral_core::app::Entry,
        env: Table,
    ) -> mlua::Result<(Function, mlua::LuaString, mlua::LuaString)> {
        let kept = self.templates.lock().unwrap_or_else(PoisonError::into_inner).get(&entry.id).cloned();
        let template = match kept {
            Some(t) if Arc::ptr_eq(&t.source, &entry.source) && *t.method_name == *entry.method => t,
            _ => {
                let t = Template {
                    source: entry.source.clone(),
                    function: self.load_fresh(entry, self.new_env()?)?,
                    method_name: entry.method.as_str().into(),
                    method: self.lua.create_string(&entry.method)?,
                    id: self.lua.create_string(&entry.id)?,
                };
                self.templates.lock().unwrap_or_else(PoisonError::into_inner).insert(entry.id.clone(), t.clone());
                t
            }
        };
        let chunk = template.function.deep_clone()?;
        if !chunk.set_environment(env)? {
            return Err(mlua::Error::runtime(format!("entry `{}`: its chunk is not a Lua function", entry.id)));
        }
        Ok((chunk, template.method, template.id))
    }

    /// Loads the entry's bytecode (compiled once for the sandbox, [`Code`]) as a new function over `env`.
    fn load_fresh(&self, entry: &corral_core::app::Entry, env: Table) -> mlua::Result<Function> {
        let bytecode = self.code.entry(entry)?;
        let name = format!("={}", entry.source_path.file_name().and_then(|n| n.to_str()).unwrap_or(&entry.id));
        self.lua.load(&bytecode[..]).set_name(name).set_mode(ChunkMode::Binary).set_environment(env).into_function()
    }
}

/// An entry's loaded chunk on a VM, kept for the next process of the entry: the source it was loaded from
/// (by identity), the function processes start from a deep copy of, and the boot glue's arguments.
#[derive(Clone)]
struct Template {
    source: Arc<str>,
    function: Function,
    /// The method's name as Rust text (compared per spawn without reading the Lua string).
    method_name: Arc<str>,
    method: mlua::LuaString,
    id: mlua::LuaString,
}

/// Compiles Luau text. Errors: the parse error with the file name and line.
pub fn compile(source: &str, file: &str) -> mlua::Result<Vec<u8>> {
    // Luau's compiler reports errors inside the bytecode (a leading zero byte then the message).
    let located = |message: &str| mlua::Error::SyntaxError {
        message: format!("{file}:{}", message.trim_start_matches(':')),
        incomplete_input: false,
    };
    let bytecode = match Compiler::new().set_optimization_level(1).compile(source) {
        Ok(bytecode) => bytecode,
        Err(mlua::Error::SyntaxError { message, .. }) => return Err(located(&message)),
        Err(e) => return Err(e),
    };
    if bytecode.first() == Some(&0) {
        return Err(located(&String::from_utf8_lossy(bytecode.get(1..).unwrap_or_default())));
    }
    Ok(bytecode)
}

/// Checks that `source` parses, for `corral check`. Errors: the parse error with `file` and the line.
pub fn check_syntax(source: &str, file: &str) -> Result<(), String> {
    compile(source, file).map(|_| ()).map_err(|e| e.to_string())
}
