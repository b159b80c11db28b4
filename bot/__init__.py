"""The running application: settings, assembly, entry points, runtime services."""
