//! Blocking module functions: the one way a Lua call parks its process.
//!
//! A blocking function (`process.call`, `process.exec`, `time.sleep`, ...) is written as a plain function
//! that answers at once with a [`Step`]: [`Step::Ready`] with its values, or [`Step::Wait`] with what the
//! process waits for. The process's Luau thread yields while it waits; it never blocks an OS thread.
//! Everything up to the wait (argument checks, decisions at the gate, conversions) runs on the process's
//! thread, metered like the rest of its code.

use futures_util::future::BoxFuture;
use mlua::{Function, Lua, MultiValue};

/// Turns what a wait produced into the values the blocking call returns, on the VM of the process that
/// waited (once it runs again).
pub type Resume = Box<dyn FnOnce(&Lua) -> mlua::Result<MultiValue> + Send>;

/// What a blocking call does now.
pub enum Step {
    /// Return these values at once.
    Ready(MultiValue),
    /// Park the process until the wait ends; the call then returns what the wait resumes with.
    Wait(Wait),
}

/// What a parked process waits for.
pub enum Wait {
    /// A future of the runtime; its output becomes the call's values.
    Future(BoxFuture<'static, Resume>),
    /// Nothing: the process never resumes here (`process.upgrade`, whose runner restarts the process).
    Forever,
}

impl Wait {
    /// Waits, then turns the outcome into the call's values on `lua`.
    async fn finish(self, lua: &Lua) -> mlua::Result<MultiValue> {
        match self {
            Wait::Future(future) => future.await(lua),
            Wait::Forever => std::future::pending().await,
        }
    }
}

impl Step {
    /// [`Step::Wait`] on `future`, whose output `resume` turns into the call's values.
    pub fn wait<T: Send + 'static>(
        future: impl std::future::Future<Output = T> + Send + 'static,
        resume: impl FnOnce(&Lua, T) -> mlua::Result<MultiValue> + Send + 'static,
    ) -> Step {
        Step::Wait(Wait::Future(Box::pin(async move {
            let output = future.await;
            Box::new(move |lua: &Lua| resume(lua, output)) as Resume
        })))
    }
}

/// A Lua function that runs `f` with its arguments and returns what the step gives, parking the process on
/// a [`Step::Wait`]. Errors from `f` are raised in the calling script.
pub fn function<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<Step> + Send + 'static,
{
    lua.create_async_function(move |lua, args: MultiValue| {
        let step = f(&lua, args);
        async move {
            match step? {
                Step::Ready(values) => Ok(values),
                Step::Wait(wait) => wait.finish(&lua).await,
            }
        }
    })
}
