//! The end-to-end tests, one module per behaviour the issue tracker promised.

mod abuse;
mod admin;
mod bad_input;
mod browser_form;
mod cli;
mod crash;
mod csp;
mod demo;
mod drain;
mod edit;
mod hostile;
mod init;
mod mail;
mod postgres;
mod probes;
mod publish;
mod rights;
mod script;
mod ssg_astro;
mod ssg_hugo;
mod ssg_jekyll;
mod ssg_pelican;
mod store_copy;
mod the_loop;
mod watch;
mod xss;
