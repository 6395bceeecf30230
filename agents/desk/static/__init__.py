"""The agent desktop page (HTML, CSS, JavaScript); a package only so that wheels ship these files."""
