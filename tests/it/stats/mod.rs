mod figures;
mod view;
