//! A TCP stream that can be closed with a reset (RST) instead of an orderly
//! close, to simulate a peer or middlebox dropping the connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Set by the request handler to have the connection reset when dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    /// Marks the connection for reset.
    pub(crate) fn trip(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_tripped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A [`TcpStream`] that, once its switch is tripped, refuses further I/O and
/// is closed with `SO_LINGER` 0, which makes the kernel send RST.
#[derive(Debug)]
pub(crate) struct ResettableStream {
    inner: TcpStream,
    switch: ResetSwitch,
}

impl ResettableStream {
    pub(crate) fn new(inner: TcpStream, switch: ResetSwitch) -> Self {
        Self { inner, switch }
    }

    fn check(&self) -> io::Result<()> {
        if self.switch.is_tripped() {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        Ok(())
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.switch.is_tripped() {
            // Zero linger only changes how the close happens; if it cannot be
            // set the peer still sees the connection end without a response.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
