"""The application: the Textual cockpit, its workers, the command line and the local lab."""
